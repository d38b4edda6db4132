import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseAnsi } from '../../console/src/ansi.ts';
import { LogLineBuffer } from '../../console/src/log-lines.ts';
import { pkceChallenge } from '../../console/src/pkce.ts';
import { shellJoin, shellSplit } from '../../console/src/shell-split.ts';

describe('console: ANSI rendering', () => {
  it.each([
    ['plain', 'hello', [{ text: 'hello', style: {} }]],
    ['red then reset', '\u001b[31mred\u001b[0m ok', [{ text: 'red', style: { fg: '#ff7b72' } }, { text: ' ok', style: {} }]],
    ['bold bright green', '\u001b[1;92mgo', [{ text: 'go', style: { bold: true, fg: '#56d364' } }]],
    ['256 colours', '\u001b[38;5;196mx', [{ text: 'x', style: { fg: 'rgb(255,0,0)' } }]],
    ['true colour background', '\u001b[48;2;1;2;3mx', [{ text: 'x', style: { bg: 'rgb(1,2,3)' } }]],
    ['cursor moves and erase stripped', 'a\u001b[2K\u001b[1Gb\u001b[?25l', [{ text: 'ab', style: {} }]],
    ['OSC title and hyperlink stripped', '\u001b]0;title\u0007a\u001b]8;;http://x\u001b\\b', [{ text: 'ab', style: {} }]],
    ['C0 and C1 controls stripped, tab kept', 'a\u0007\u0008\tb\u009bc', [{ text: 'a\tb', style: {} }]],
  ])('%s', (_name, input, expected) => {
    expect(parseAnsi(input)).toEqual(expected);
  });
});

describe('console: output lines per stream', () => {
  it('joins chunks into lines, keeping stdout and stderr apart and a partial line open', () => {
    const buffer = new LogLineBuffer();
    buffer.append({ stream: 'stdout', data: 'one\ntw' });
    buffer.append({ stream: 'stderr', data: 'err\n' });
    buffer.append({ stream: 'stdout', data: 'o\nthree' });
    expect(buffer.lines).toEqual([
      { stream: 'stdout', text: 'one' },
      { stream: 'stdout', text: 'two' },
      { stream: 'stderr', text: 'err' },
      { stream: 'stdout', text: 'three' },
    ]);
    buffer.append({ stream: 'stdout', data: '!\n\n' });
    expect(buffer.lines.slice(3)).toEqual([
      { stream: 'stdout', text: 'three!' },
      { stream: 'stdout', text: '' },
    ]);
  });
});

describe('console: command line to argv', () => {
  it.each([
    ['python train.py --lr 0.1', ['python', 'train.py', '--lr', '0.1']],
    [`node -e "console.log('hi')"`, ['node', '-e', "console.log('hi')"]],
    [`sh -c 'echo $HOME; ls'`, ['sh', '-c', 'echo $HOME; ls']],
    [`a\\ b "c\\"d" '' e`, ['a b', 'c"d', '', 'e']],
    ['  spaced   out  ', ['spaced', 'out']],
  ])('%s', (line, argv) => {
    expect(shellSplit(line)).toEqual({ argv });
    expect(shellSplit(shellJoin(argv))).toEqual({ argv });
  });

  it('reports an unterminated quote instead of guessing', () => {
    expect(shellSplit(`echo "oops`)).toEqual({ error: 'unterminated double quote' });
    expect(shellSplit(`echo 'oops`)).toEqual({ error: 'unterminated single quote' });
  });
});

describe('console: OIDC PKCE', () => {
  it('derives the S256 challenge: base64url(SHA-256(verifier)), unpadded', async () => {
    for (const verifier of ['dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wnw1gFd-j7JY', randomBytes(32).toString('base64url'), 'a'.repeat(128)]) {
      const challenge = await pkceChallenge(verifier);
      expect(challenge).toBe(createHash('sha256').update(verifier).digest('base64url'));
      expect(challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    }
  });
});
