import { z } from 'zod';
import { provisioningFileSchema } from './schema.js';

/** Where the JSON Schema is published ($id), and what files name in "$schema". */
export const PROVISIONING_SCHEMA_ID = 'https://gatehouse.invalid/provisioning.schema.json';

/** The JSON Schema of the provisioning file (for editors and IT tools), generated from the zod schema. */
export function provisioningJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(provisioningFileSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...schema, $id: PROVISIONING_SCHEMA_ID, title: 'Gatehouse provisioning file' };
}

/** The schema as committed in provisioning/provisioning.schema.json (`npm run provisioning-schema` writes it). */
export function provisioningJsonSchemaText(): string {
  return `${JSON.stringify(provisioningJsonSchema(), null, 2)}\n`;
}
