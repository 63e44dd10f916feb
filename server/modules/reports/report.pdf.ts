import type { Readable } from 'node:stream';
import PDFDocument from 'pdfkit';

/** One line of the catalog table. `price` is the exact decimal string from PostgreSQL. */
export interface CatalogRow {
  name: string;
  price: string;
}

/** Everything the product catalog PDF shows. */
export interface ProductCatalogInput {
  generatedAt: Date;
  ownerName: string;
  /** Counted by PostgreSQL in the same snapshot the rows are read from. */
  productCount: number;
  /** Sum of the prices computed by PostgreSQL NUMERIC, as a decimal string: never summed here. */
  totalPrice: string;
  /**
   * The products in print order, a batch at a time, so a catalog of any size is
   * rendered without holding every row in memory.
   */
  rows: AsyncIterable<readonly CatalogRow[]>;
  /**
   * Called with the share of rows rendered so far, 0–100, each time it grows by at
   * least one point. Awaited, so a slow progress write paces the renderer instead of
   * piling up.
   */
  onProgress?: (percent: number) => void | Promise<void>;
  /** Aborting stops the rendering: the returned stream errors with the abort reason. */
  signal?: AbortSignal;
}

export const CATALOG_TITLE = 'Product catalog';

const MARGIN = 50;
const FONT = 'Helvetica';
const FONT_BOLD = 'Helvetica-Bold';
const BODY_SIZE = 10;
const ROW_GAP = 4;
// Column layout on A4 (595 pt wide, 495 between the margins).
const NUMBER_X = MARGIN;
const NUMBER_WIDTH = 45;
const NAME_X = NUMBER_X + NUMBER_WIDTH + 10;
const PRICE_WIDTH = 100;
const PRICE_X = 595.28 - MARGIN - PRICE_WIDTH;
const NAME_WIDTH = PRICE_X - NAME_X - 15;

/**
 * Renders the product catalog as a PDF and returns it as a stream (pdfkit writes
 * pages out as they are finished). Feed it to `ReportStorage.put`. The stream ends
 * when the document is complete, or errors when reading the rows fails or `signal`
 * aborts, so storage never keeps a truncated file.
 *
 * Layout: title, generation time (UTC) and owner; then the table (row number, name,
 * price), its header repeated on every page, a page number at the foot of each page;
 * then the product count and the exact total of prices.
 */
export function renderProductCatalog(input: ProductCatalogInput): Readable {
  const doc = new PDFDocument({
    size: 'A4',
    margin: MARGIN,
    info: { Title: CATALOG_TITLE, Author: input.ownerName, CreationDate: input.generatedAt },
  });
  void fill(doc, input).then(
    () => doc.end(),
    (error: unknown) => doc.destroy(error instanceof Error ? error : new Error(String(error))),
  );
  return doc;
}

async function fill(doc: PDFKit.PDFDocument, input: ProductCatalogInput): Promise<void> {
  let pageNumber = 1;
  const bottom = () => doc.page.height - doc.page.margins.bottom;

  doc.font(FONT_BOLD).fontSize(20).text(CATALOG_TITLE, MARGIN, MARGIN);
  doc.moveDown(0.5);
  doc.font(FONT).fontSize(BODY_SIZE);
  doc.text(`Generated: ${formatUtc(input.generatedAt)}`);
  doc.text(`Prepared for: ${input.ownerName}`);
  doc.text(`Active products: ${input.productCount}`);
  doc.moveDown(1);
  let y = tableHeader(doc, doc.y);

  const newPage = () => {
    pageFooter(doc, pageNumber);
    doc.addPage();
    pageNumber += 1;
    y = tableHeader(doc, doc.page.margins.top);
  };

  let rendered = 0;
  let reported = -1;
  for await (const batch of input.rows) {
    input.signal?.throwIfAborted();
    for (const row of batch) {
      rendered += 1;
      const height = Math.max(doc.heightOfString(row.name, { width: NAME_WIDTH }), doc.currentLineHeight()) + ROW_GAP;
      if (y + height > bottom()) newPage();
      doc.font(FONT).fontSize(BODY_SIZE);
      doc.text(String(rendered), NUMBER_X, y, { width: NUMBER_WIDTH, align: 'right', lineBreak: false });
      doc.text(row.name, NAME_X, y, { width: NAME_WIDTH });
      doc.text(row.price, PRICE_X, y, { width: PRICE_WIDTH, align: 'right', lineBreak: false });
      y += height;
    }
    const percent = input.productCount > 0 ? Math.min(100, Math.floor((rendered * 100) / input.productCount)) : 100;
    if (percent > reported) {
      reported = percent;
      await input.onProgress?.(percent);
    }
  }
  input.signal?.throwIfAborted();

  // The summary stays in one piece: it moves to a new page rather than split.
  if (y + 3 * doc.currentLineHeight() + 2 * ROW_GAP > bottom()) newPage();
  doc
    .moveTo(MARGIN, y)
    .lineTo(doc.page.width - MARGIN, y)
    .lineWidth(0.5)
    .stroke();
  y += ROW_GAP * 2;
  doc.font(FONT_BOLD).fontSize(BODY_SIZE);
  doc.text(`Products: ${input.productCount}`, NAME_X, y, { width: NAME_WIDTH, lineBreak: false });
  y += doc.currentLineHeight() + ROW_GAP;
  doc.text('Total of prices', NAME_X, y, { width: NAME_WIDTH, lineBreak: false });
  doc.text(input.totalPrice, PRICE_X, y, { width: PRICE_WIDTH, align: 'right', lineBreak: false });
  pageFooter(doc, pageNumber);
  if (reported < 100) await input.onProgress?.(100);
}

/** Draws the column titles at `y` and returns where the first row goes. */
function tableHeader(doc: PDFKit.PDFDocument, y: number): number {
  doc.font(FONT_BOLD).fontSize(BODY_SIZE);
  doc.text('#', NUMBER_X, y, { width: NUMBER_WIDTH, align: 'right', lineBreak: false });
  doc.text('Name', NAME_X, y, { width: NAME_WIDTH, lineBreak: false });
  doc.text('Price', PRICE_X, y, { width: PRICE_WIDTH, align: 'right', lineBreak: false });
  const below = y + doc.currentLineHeight() + 2;
  doc
    .moveTo(MARGIN, below)
    .lineTo(doc.page.width - MARGIN, below)
    .lineWidth(0.5)
    .stroke();
  return below + ROW_GAP;
}

function pageFooter(doc: PDFKit.PDFDocument, pageNumber: number): void {
  // The footer sits inside the bottom margin; with the margin in place pdfkit would
  // treat it as overflow and open a blank page.
  const margin = doc.page.margins.bottom;
  doc.page.margins.bottom = 0;
  doc.font(FONT).fontSize(8);
  doc.text(`Page ${pageNumber}`, MARGIN, doc.page.height - margin / 2 - 4, { width: doc.page.width - 2 * MARGIN, align: 'center', lineBreak: false });
  doc.page.margins.bottom = margin;
}

function formatUtc(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}
