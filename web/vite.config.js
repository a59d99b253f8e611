import { resolve } from 'node:path';
import { defineConfig } from 'vite';

// Plain static build; public/config.json and public/abi/ are written at deploy time.
export default defineConfig({
  base: './',
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
    // Two pages: the patient's (and delegate's), and the clinician's and responder's.
    rollupOptions: { input: { patient: resolve('index.html'), clinician: resolve('clinician.html') } },
  },
});
