/**
 * Just enough XML for S3's ListBucketResult / Error and Azure's EnumerationResults / Error bodies: flat, known
 * element names, no attributes needed. Not a general XML parser.
 */

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

export function decodeXmlText(s: string): string {
  return s
    .replace(/<!\[CDATA\[([\s\S]*?)\]\]>/g, (_m, body: string) => body)
    .replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (m, ref: string) => {
      if (ref[0] === "#") {
        const code = ref[1] === "x" || ref[1] === "X" ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
        return Number.isFinite(code) ? String.fromCodePoint(code) : m;
      }
      return ENTITIES[ref.toLowerCase()] ?? m;
    });
}

/** The raw inner XML of every `<tag …>…</tag>` (not nested in itself), in document order. */
export function xmlBlocks(xml: string, tag: string): string[] {
  const re = new RegExp(`<${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</${tag}>`, "g");
  const out: string[] = [];
  for (let m = re.exec(xml); m !== null; m = re.exec(xml)) out.push(m[1]);
  return out;
}

/** The decoded text of the first `<tag>` in `xml`; `""` for `<tag/>`; undefined when absent. */
export function xmlText(xml: string, tag: string): string | undefined {
  const block = xmlBlocks(xml, tag)[0];
  if (block !== undefined) return decodeXmlText(block);
  return new RegExp(`<${tag}(?:\\s[^>]*)?/>`).test(xml) ? "" : undefined;
}
