import { PDFParse } from 'pdf-parse';

/** The text of a PDF, per page and whole, as pdf-parse (pdf.js) extracts it. */
export async function pdfText(data: Buffer): Promise<{ text: string; pages: string[]; total: number }> {
  const parser = new PDFParse({ data: new Uint8Array(data) });
  try {
    const result = await parser.getText();
    return { text: result.text, pages: result.pages.map((p) => p.text), total: result.total };
  } finally {
    await parser.destroy();
  }
}

/** Exact sum of decimal strings with two places, in integer cents (what the PDF total must equal). */
export function sumMoney(prices: readonly string[]): string {
  const cents = prices.reduce((acc, p) => acc + BigInt(p.replace('.', '')), 0n);
  const text = cents.toString().padStart(3, '0');
  return `${text.slice(0, -2)}.${text.slice(-2)}`;
}
