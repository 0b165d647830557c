// Bundles the drafting room into web/static/ (not committed): `npm run build`.
// One bundle (room.js) so that Yjs is loaded once; the stylesheet is copied beside it.
import * as esbuild from 'esbuild'
import { copyFileSync, mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const out = join(here, '..', 'static')
mkdirSync(out, { recursive: true })
const started = Date.now()
await esbuild.build({
  entryPoints: [join(here, 'main.js')],
  outfile: join(out, 'room.js'),
  bundle: true,
  format: 'esm',
  target: ['chrome110', 'firefox110', 'safari16'],
  minify: !process.argv.includes('--dev'),
  sourcemap: true,
  legalComments: 'linked',
  logLevel: 'warning'
})
copyFileSync(join(here, 'room.css'), join(out, 'room.css'))
console.log(`web/static/room.js built in ${Date.now() - started} ms`)
