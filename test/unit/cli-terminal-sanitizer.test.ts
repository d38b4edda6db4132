import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_STRING, TerminalSanitizer, neutraliseTerminalControls } from '../../cli/terminal-sanitizer.ts';

const ESC = '\u001b';
const R = '\ufffd';

describe('neutraliseTerminalControls', () => {
  it.each([
    ['plain text, newlines, tabs and carriage returns', 'a\tb\r\nc\rd\n', 'a\tb\r\nc\rd\n'],
    ['UTF-8 text', 'ü€😀 日本', 'ü€😀 日本'],
    ['SGR colours', `${ESC}[1;31mred${ESC}[0m`, 'red'],
    ['cursor moves and erase', `ok${ESC}[2J${ESC}[H${ESC}[1A${ESC}[2K!`, 'ok!'],
    ['private CSI (alternate screen, hide cursor)', `${ESC}[?1049h${ESC}[?25lx`, 'x'],
    ['window title, BEL-terminated OSC', `${ESC}]0;pwned${'\u0007'}after`, 'after'],
    ['OSC 8 hyperlink, ST-terminated', `${ESC}]8;;https://evil.example${ESC}\\click${ESC}]8;;${ESC}\\`, 'click'],
    ['OSC 52 clipboard write', `${ESC}]52;c;cm0gLXJmIH4=${'\u0007'}x`, 'x'],
    ['DCS, APC, PM, SOS strings', `${ESC}Pq#0${ESC}\\${ESC}_apc${ESC}\\${ESC}^pm${ESC}\\${ESC}Xsos${ESC}\\y`, 'y'],
    ['8-bit CSI and OSC', `\u009b31mred\u009d0;t\u0007!`, 'red!'],
    ['8-bit ST ends a string', `\u009d0;title\u009cz`, 'z'],
    ['two-character escapes (reset, charset, keypad)', `${ESC}ca${ESC}(Bb${ESC}=c`, 'abc'],
    ['a lone ESC before text keeps the text', `${ESC}\u00e9t\u00e9`, 'été'],
    ['other C0 controls, DEL and stray C1 are made visible', 'a\u0007b\u0008c\u0000d\u007fe\u0085f\u000bg\u000ch', `a${R}b${R}c${R}d${R}e${R}f${R}g${R}h`],
    ['a CSI broken by a control character', `${ESC}[31\u0007x`, `${R}x`],
  ])('%s', (_what, input, expected) => {
    expect(neutraliseTerminalControls(input)).toBe(expected);
  });

  it('never lets an escape or a C0/C1 control other than \\n \\t \\r through', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.oneof(fc.constantFrom(ESC, '[', ']', '\\', '\u0007', '\u009b', '\u009d', ';', '1', 'm', 'P'), fc.integer({ min: 0, max: 0x17f }).map((c) => String.fromCodePoint(c))) }), (s) => {
        const controls = [...neutraliseTerminalControls(s)].filter((c) => {
          const code = c.codePointAt(0)!;
          return (code < 0x20 && c !== '\n' && c !== '\t' && c !== '\r') || (code >= 0x7f && code <= 0x9f);
        });
        expect(controls).toEqual([]);
      }),
    );
  });

  it('gives the same result however the output is split into chunks', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.oneof(fc.constantFrom(ESC, '[', ']', '\\', '\u0007', ';', '0', 'm', 'x', '\n'), fc.integer({ min: 0, max: 0x17f }).map((c) => String.fromCodePoint(c))) }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (s, cuts) => {
          const points = [...new Set(cuts.map((c) => c % (s.length + 1)))].sort((a, b) => a - b);
          const sanitizer = new TerminalSanitizer();
          let out = '';
          let from = 0;
          for (const at of [...points, s.length]) {
            out += sanitizer.write(s.slice(from, at));
            from = at;
          }
          expect(out).toBe(neutraliseTerminalControls(s));
        },
      ),
    );
    const split = new TerminalSanitizer();
    expect(split.write(`before${ESC}`) + split.write(']0;ti') + split.write(`tle\u0007after`)).toBe('beforeafter');
  });

  it('gives up on an unterminated control string instead of swallowing the rest of the output', () => {
    const sanitizer = new TerminalSanitizer();
    // The string's first MAX_STRING characters ("52;c;" included) and the one past them are dropped.
    expect(sanitizer.write(`${ESC}]52;c;${'A'.repeat(MAX_STRING + 10)}`)).toBe('A'.repeat(10 + 5 - 1));
    expect(sanitizer.write('visible again\n')).toBe('visible again\n');
  });
});
