/**
 * Builds the dashboard (Preact + uPlot) into dashboard/dist, which is committed and served by Floe
 * at /dashboard/ (src/receive/dashboard.ts). `npm run build:dashboard` rebuilds it;
 * test/dashboard/build.test.ts fails when the committed output does not match the source.
 */
import { defineConfig } from 'vite'

export default defineConfig({
  root: import.meta.dirname,
  base: '/dashboard/',
  // Preact's automatic JSX runtime, through Vite's own transformer (no plugin needed).
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: process.env.FLOE_DASHBOARD_OUT_DIR ?? 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // No inline module-preload polyfill: the CSP allows no inline script, and every browser the
    // dashboard targets supports <link rel="modulepreload">.
    modulePreload: { polyfill: false },
    // Asset names carry a content hash, so the server may cache them for a year (immutable).
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
})
