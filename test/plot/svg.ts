/** Minimal XML well-formedness check for the SVG we render (tags balanced, attributes quoted, one root). */
export function checkWellFormedXml(xml: string): { root: string; elements: number } {
  const re = /<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>|<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!\[CDATA\[[\s\S]*?\]\]>/g;
  const stack: string[] = [];
  let root = '';
  let elements = 0;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(xml))) {
    const between = xml.slice(last, m.index);
    if (between.includes('<')) throw new Error(`malformed markup near: ${between.slice(between.indexOf('<'), between.indexOf('<') + 60)}`);
    if (/&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(between)) throw new Error(`bad entity in text: ${between.slice(0, 60)}`);
    last = re.lastIndex;
    if (m[2] === undefined) continue;
    const [, close, name, , selfClose] = m;
    if (close) {
      const open = stack.pop();
      if (open !== name) throw new Error(`</${name}> closes <${open}>`);
    } else {
      elements++;
      if (stack.length === 0) {
        if (root) throw new Error('more than one root element');
        root = name!;
      }
      if (!selfClose) stack.push(name!);
    }
  }
  if (xml.slice(last).includes('<')) throw new Error('trailing malformed markup');
  if (stack.length) throw new Error(`unclosed <${stack.pop()}>`);
  return { root, elements };
}

/** Number of items drawn in the vega mark group(s) of a given mark type (e.g. 'rect', 'line', 'symbol'). */
export function countMarks(svg: string, markType: string): number {
  let n = 0;
  const re = new RegExp(`<g class="mark-${markType} role-mark[^"]*"[^>]*>`, 'g');
  let m: RegExpExecArray | null;
  while ((m = re.exec(svg))) {
    // count direct children <path .../> until the matching </g>
    let depth = 1;
    let i = re.lastIndex;
    const tag = /<(\/?)(\w+)[^>]*?(\/?)>/g;
    tag.lastIndex = i;
    let t: RegExpExecArray | null;
    while (depth > 0 && (t = tag.exec(svg))) {
      if (t[1]) depth--;
      else if (!t[3]) {
        if (depth === 1 && t[2] !== 'g') n++;
        depth++;
      } else if (depth === 1) n++;
      i = tag.lastIndex;
    }
  }
  return n;
}
