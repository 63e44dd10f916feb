import { z } from 'zod';
import { text } from '../../lib/text.ts';
import { listPageSchema, listQueryFields } from '../../lib/pagination.ts';
import { searchTermSchema } from '../../lib/text-search.ts';
import { compareDecimals, decimalInput, MoneyString, PRICE_BOUND_RULES, PRICE_RULES } from '../../lib/decimal.ts';

// `pattern`: what trim-then-min(1) means, as a document can say it (not only spaces).
const Name = text().trim().min(1).max(200).meta({ description: 'Product name, 1–200 characters (surrounding spaces are removed)', example: 'Espresso cup', pattern: '\\S' });
const Price = decimalInput(PRICE_RULES, {
  description: 'Price as a decimal string (not a JSON number): at most two decimal places, greater than 0, at most 99999999.99',
  example: '19.90',
});
const PriceBound = decimalInput(PRICE_BOUND_RULES, { description: 'Inclusive price bound: a decimal string ≥ 0 with at most two places', example: '10.00' });

export const ProductIdInput = z.object({ id: z.uuid() });

export const CreateProductInput = z.object({ name: Name, price: Price });

export const UpdateProductInput = z
  .object({
    id: z.uuid(),
    name: Name.optional(),
    price: Price.optional(),
    isActive: z.boolean().optional().meta({ description: 'false archives the product, true restores it' }),
  })
  .refine((v) => v.name !== undefined || v.price !== undefined || v.isActive !== undefined, {
    message: 'Provide at least one of name, price, isActive',
  })
  // What the refine enforces, as the document can say it (the body holds no other field).
  .meta({ minProperties: 1 });

export const ListProductsInput = z
  .object({
    ...listQueryFields,
    search: searchTermSchema('the name'),
    minPrice: PriceBound.optional(),
    maxPrice: PriceBound.optional(),
  })
  .refine((v) => v.minPrice === undefined || v.maxPrice === undefined || compareDecimals(v.minPrice, v.maxPrice) <= 0, {
    message: 'minPrice must not be greater than maxPrice',
    path: ['minPrice'],
  });

export const ProductSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    price: MoneyString,
    isActive: z.boolean(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'Product' });

export const ProductPageSchema = listPageSchema(ProductSchema, 'ProductPage', 'products');

export type CreateProductInput = z.output<typeof CreateProductInput>;
export type UpdateProductInput = z.output<typeof UpdateProductInput>;
export type ListProductsInput = z.output<typeof ListProductsInput>;
export type ProductDto = z.output<typeof ProductSchema>;
export type ProductPage = z.output<typeof ProductPageSchema>;
