import { defineConfig } from 'vite';

// Bundles the test-only signer into one script the browser test injects.
export default defineConfig({
  publicDir: false,
  define: { 'process.env.NODE_ENV': '"production"' },
  build: {
    target: 'es2022',
    outDir: 'test/signer-bundle',
    emptyOutDir: true,
    lib: {
      entry: 'test/injected-signer.js',
      name: 'medconsentTestSigner',
      formats: ['iife'],
      fileName: () => 'signer.js',
    },
  },
});
