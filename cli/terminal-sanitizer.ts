/**
 * Neutralises terminal control sequences in a job's output before it reaches a terminal. A job is
 * untrusted: its output could otherwise retitle the window, rewrite what is already on screen,
 * plant a hyperlink or a clipboard write (OSC 8, OSC 52), or answer queries as if the user had
 * typed. What is removed (ECMA-48, as xterm parses it):
 * - CSI sequences (`ESC [` or U+009B, parameters, intermediates, one final byte): cursor moves,
 *   erases, colours;
 * - control strings (`ESC ]` OSC, `ESC P` DCS, `ESC X`, `ESC ^`, `ESC _`, and their C1 forms) up to
 *   BEL or ST, or dropped after `MAX_STRING` characters so an unterminated one cannot swallow the
 *   rest of the output;
 * - any other escape (`ESC` intermediates final, e.g. `ESC c`, which resets the terminal).
 * Every other C0 or C1 control and DEL becomes U+FFFD, so something visibly stood there. Kept:
 * `\n`, `\t`, and `\r` (progress bars redraw their own line with it; it cannot reach any other line).
 *
 * Streaming: a sequence may be split across output events, so the parser keeps its state between
 * `write` calls (one sanitizer per output stream). Sequence bytes are never output, so nothing is
 * held back: `write` returns everything printable at once.
 */

const ESC = 0x1b;
const BEL = 0x07;
const C1_DCS = 0x90;
const C1_SOS = 0x98;
const C1_CSI = 0x9b;
const C1_ST = 0x9c;
const C1_OSC = 0x9d;
const C1_PM = 0x9e;
const C1_APC = 0x9f;
const REPLACEMENT = '\ufffd';
/** Longer control strings than this are cut off (OSC 52 clipboard payloads are the long ones). */
export const MAX_STRING = 4096;
/** A CSI longer than this is not one a terminal would act on; give up on it. */
const MAX_CSI = 64;

type State = 'text' | 'escape' | 'csi' | 'string' | 'string-escape';

export class TerminalSanitizer {
  private state: State = 'text';
  private length = 0;

  /** The printable part of `chunk`, given everything written before it. */
  write(chunk: string): string {
    let out = '';
    for (const char of chunk) {
      const code = char.codePointAt(0)!;
      out += this.step(char, code);
    }
    return out;
  }

  private step(char: string, code: number): string {
    switch (this.state) {
      case 'text':
        return this.text(char, code);
      case 'escape':
        if (code === 0x5b) return this.enter('csi');
        if (code === 0x5d || code === 0x50 || code === 0x58 || code === 0x5e || code === 0x5f) return this.enter('string');
        // Intermediates (`ESC ( B`) continue the escape; a final byte ends it.
        if (code >= 0x20 && code <= 0x2f) return '';
        if (code >= 0x30 && code <= 0x7e) return this.enter('text');
        // Not an escape after all: the ESC is dropped, the character read as text.
        this.state = 'text';
        return this.text(char, code);
      case 'csi':
        if (code >= 0x40 && code <= 0x7e) return this.enter('text');
        if (code >= 0x20 && code <= 0x3f && ++this.length <= MAX_CSI) return '';
        this.state = 'text';
        return this.text(char, code);
      case 'string':
        if (code === BEL || code === C1_ST) return this.enter('text');
        if (code === ESC) return this.enter('string-escape', this.length);
        if (++this.length > MAX_STRING) this.state = 'text';
        return '';
      case 'string-escape':
        if (code === 0x5c) return this.enter('text');
        // ESC followed by anything else ends the string and starts a new escape.
        this.state = 'escape';
        return this.step(char, code);
    }
  }

  private text(char: string, code: number): string {
    if (code === ESC) return this.enter('escape');
    if (code === C1_CSI) return this.enter('csi');
    if (code === C1_OSC || code === C1_DCS || code === C1_SOS || code === C1_PM || code === C1_APC) return this.enter('string');
    if (code === 0x0a || code === 0x09 || code === 0x0d) return char;
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return REPLACEMENT;
    return char;
  }

  private enter(state: State, length = 0): string {
    this.state = state;
    this.length = length;
    return '';
  }
}

/** `chunk` with its control sequences neutralised, as one piece. */
export function neutraliseTerminalControls(text: string): string {
  return new TerminalSanitizer().write(text);
}
