/**
 * Turns one line of terminal output into styled segments: SGR colour codes (16, 256 and true
 * colour, bold, dim, italic, underline, inverse) are rendered; every other escape sequence (cursor
 * moves, OSC titles and links, charset switches) and control character is dropped, so a hostile
 * job cannot do more to the page than colour its own text.
 */
export interface AnsiStyle {
  readonly fg?: string;
  readonly bg?: string;
  readonly bold?: boolean;
  readonly dim?: boolean;
  readonly italic?: boolean;
  readonly underline?: boolean;
}

export interface AnsiSegment {
  readonly text: string;
  readonly style: AnsiStyle;
}

// A palette readable on the log's dark background (at least 4.5:1 against it, WCAG AA), since the
// job, not the console, decides which colours its text uses. "Black" is a dark grey for that reason.
const BASIC = ['#8b949e', '#ff7b72', '#3fb950', '#d29922', '#58a6ff', '#bc8cff', '#39c5cf', '#b1bac4'];
const BRIGHT = ['#a5aeb8', '#ffa198', '#56d364', '#e3b341', '#79c0ff', '#d2a8ff', '#56d4dd', '#ffffff'];

function color256(n: number): string | undefined {
  if (!Number.isInteger(n) || n < 0 || n > 255) return undefined;
  if (n < 8) return BASIC[n];
  if (n < 16) return BRIGHT[n - 8];
  if (n >= 232) {
    const level = 8 + (n - 232) * 10;
    return `rgb(${level},${level},${level})`;
  }
  const i = n - 16;
  const step = (v: number) => (v === 0 ? 0 : 55 + v * 40);
  return `rgb(${step(Math.floor(i / 36))},${step(Math.floor(i / 6) % 6)},${step(i % 6)})`;
}

// CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), other two-byte escapes, and C0/C1 controls but tab.
// eslint-disable-next-line no-control-regex -- matching escape sequences is the point
const TOKEN = /\u001b\[([0-?]*)([ -/]*)([@-~])|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b[@-Z\\-_]|\u009b[0-?]*[ -/]*[@-~]|[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

export function parseAnsi(line: string): AnsiSegment[] {
  const segments: AnsiSegment[] = [];
  let style: AnsiStyle = {};
  let last = 0;
  const push = (text: string) => {
    if (text.length === 0) return;
    const previous = segments[segments.length - 1];
    if (previous && previous.style === style) segments[segments.length - 1] = { text: previous.text + text, style };
    else segments.push({ text, style });
  };
  for (const match of line.matchAll(TOKEN)) {
    push(line.slice(last, match.index));
    last = match.index + match[0].length;
    if (match[3] === 'm' && match[2] === '') style = applySgr(style, match[1] ?? '');
  }
  push(line.slice(last));
  return segments;
}

function applySgr(current: AnsiStyle, params: string): AnsiStyle {
  const codes = params === '' ? [0] : params.split(/[;:]/).map((p) => (p === '' ? 0 : Number(p)));
  let style: { -readonly [K in keyof AnsiStyle]: AnsiStyle[K] } = { ...current };
  for (let i = 0; i < codes.length; i++) {
    const code = codes[i]!;
    if (code === 0) style = {};
    else if (code === 1) style.bold = true;
    else if (code === 2) style.dim = true;
    else if (code === 3) style.italic = true;
    else if (code === 4) style.underline = true;
    else if (code === 22) style.bold = style.dim = undefined;
    else if (code === 23) style.italic = undefined;
    else if (code === 24) style.underline = undefined;
    else if (code >= 30 && code <= 37) style.fg = BASIC[code - 30];
    else if (code >= 90 && code <= 97) style.fg = BRIGHT[code - 90];
    else if (code >= 40 && code <= 47) style.bg = BASIC[code - 40];
    else if (code >= 100 && code <= 107) style.bg = BRIGHT[code - 100];
    else if (code === 39) style.fg = undefined;
    else if (code === 49) style.bg = undefined;
    else if (code === 38 || code === 48) {
      let value: string | undefined;
      if (codes[i + 1] === 5) {
        value = color256(codes[i + 2] ?? -1);
        i += 2;
      } else if (codes[i + 1] === 2) {
        const [r, g, b] = [codes[i + 2], codes[i + 3], codes[i + 4]].map((v) => Math.max(0, Math.min(255, v ?? 0)));
        value = `rgb(${r},${g},${b})`;
        i += 4;
      }
      if (code === 38) style.fg = value;
      else style.bg = value;
    }
  }
  return style;
}
