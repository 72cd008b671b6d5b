import { defineConfig } from 'drizzle-kit';

// `npx nx run coordination:generate-migration` writes the next numbered migration into ./drizzle.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/schema.ts',
  out: './drizzle',
});
