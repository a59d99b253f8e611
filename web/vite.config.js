import { defineConfig } from 'vite';

// Plain static build; public/config.json and public/abi/ are written at deploy time.
export default defineConfig({
  base: './',
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 2000 },
});
