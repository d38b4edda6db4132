import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

/** The console: static files under console/dist, served by the local platform and by CloudFront. */
export default defineConfig({
  root,
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The first page's budget is 250 KB of gzipped JS; the size report shows where it goes.
    reportCompressedSize: true,
    chunkSizeWarningLimit: 600,
  },
  server: {
    // `npm run console:dev` next to `npm start`: API calls go to the local platform.
    proxy: { '/v1': 'http://127.0.0.1:8787', '/console-config.json': 'http://127.0.0.1:8787' },
  },
});
