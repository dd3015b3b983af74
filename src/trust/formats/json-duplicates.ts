// JSON.parse keeps the last of two equal keys silently; another parser may keep the first. Two readers
// seeing two different tensors in one header is a parser differential an attacker can use, so a
// header with a repeated key in any object is refused. This is a scan of already-valid JSON (run after
// JSON.parse succeeded): it only tracks strings, nesting and which strings are keys.
export function findDuplicateKey(json: string): string | undefined {
  const stack: (Set<string> | null)[] = []; // a Set per open object, null per open array
  let i = 0;
  while (i < json.length) {
    const c = json.charCodeAt(i);
    if (c === 0x22) {
      // a string: find its end, honouring escapes
      let j = i + 1;
      while (json.charCodeAt(j) !== 0x22) j += json.charCodeAt(j) === 0x5c ? 2 : 1;
      const top = stack[stack.length - 1];
      if (top) {
        let k = j + 1;
        while (k < json.length && isJsonSpace(json.charCodeAt(k))) k++;
        if (json.charCodeAt(k) === 0x3a) {
          const body = json.slice(i + 1, j);
          const key = body.includes('\\') ? (JSON.parse(`"${body}"`) as string) : body; // unescaped, so "a" and "\u0061" collide
          if (top.has(key)) return key;
          top.add(key);
        }
      }
      i = j + 1;
    } else {
      if (c === 0x7b) stack.push(new Set());
      else if (c === 0x5b) stack.push(null);
      else if (c === 0x7d || c === 0x5d) stack.pop();
      i++;
    }
  }
  return undefined;
}

function isJsonSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}
