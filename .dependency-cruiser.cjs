/**
 * The floors of src/ (docs/architecture.md): a file imports only from its own folder or from the
 * floors below it, never from a sibling on the same floor, never in a cycle; nothing the core entry
 * (`vdafm`) reaches touches Node's built-ins or src/node/. `npm run lint:deps` checks it.
 */
// floor → the folders (regex fragments under src/) it may import from, besides itself.
const ERR = 'errors\\.ts';
const BELOW = {
  core: [ERR],
  kernels: [ERR, 'core/'],
  metrics: [ERR, 'core/'],
  data: [ERR, 'core/'],
  text: [ERR, 'core/'],
  ops: [ERR, 'core/', 'kernels/'],
  layers: [ERR, 'core/', 'kernels/', 'ops/'],
  encoders: [ERR, 'core/', 'kernels/', 'ops/', 'layers/', 'metrics/', 'data/', 'text/'],
  fusion: [ERR, 'core/', 'kernels/', 'ops/', 'layers/'],
  losses: [ERR, 'core/', 'kernels/', 'ops/', 'layers/'],
  models: [ERR, 'core/', 'kernels/', 'ops/', 'layers/', 'encoders/', 'fusion/', 'losses/', 'metrics/', 'data/', 'text/'],
  training: [ERR, 'core/', 'kernels/', 'ops/', 'layers/', 'encoders/', 'fusion/', 'losses/', 'models/', 'metrics/', 'data/', 'text/'],
  interpret: [ERR, 'core/', 'kernels/', 'ops/', 'layers/', 'encoders/', 'fusion/', 'losses/', 'models/', 'metrics/', 'data/', 'text/'],
};
const floorRules = Object.entries(BELOW).map(([floor, allowed]) => ({
  name: `floor-${floor}`,
  comment: `src/${floor}/ imports only from: ${allowed.map((a) => a.replace(/\\\\/g, '')).join(', ')} (and itself).`,
  severity: 'error',
  from: { path: `^src/${floor}/` },
  to: { path: '^src/', pathNot: [`^src/${floor}/`, ...allowed.map((a) => `^src/${a}`)] },
}));

module.exports = {
  forbidden: [
    ...floorRules,
    {
      name: 'errors-is-the-ground',
      comment: 'src/errors.ts imports nothing of vdafm.',
      severity: 'error',
      from: { path: '^src/errors\\.ts$' },
      to: { path: '^src/' },
    },
    {
      name: 'register-imports-layers-only',
      comment: 'src/register.ts (every registerClass call) imports layer classes and the floors below; only entries import it.',
      severity: 'error',
      from: { path: '^src/register\\.ts$' },
      to: { path: '^src/(models|training|interpret|demo|study|node|testing)/|^src/(index|node|testing|cli)\\.ts$' },
    },
    {
      name: 'only-entries-import-register',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(index|node|testing|cli)\\.ts$' },
      to: { path: '^src/register\\.ts$' },
    },
    {
      name: 'nothing-imports-an-entry',
      comment: 'Entries re-export; implementation files import implementation files.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^src/(index|node|testing|cli)\\.ts$' },
    },
    {
      name: 'main-jobs-on-top',
      comment: 'demo/ and study/ (the main jobs) are imported only by the CLI and by each other.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(demo|study)/|^src/cli\\.ts$' },
      to: { path: '^src/(demo|study)/' },
    },
    {
      name: 'node-subpath-is-node-only',
      comment: 'src/node/ holds the vdafm/node entry: only it, the CLI and the main jobs use it.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(node|demo|study)/|^src/(node|cli)\\.ts$' },
      to: { path: '^src/node/' },
    },
    {
      name: 'testing-subpath',
      comment: 'src/testing/ holds the vdafm/testing entry: nothing in the library imports it.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/testing/|^src/testing\\.ts$' },
      to: { path: '^src/testing/' },
    },
    {
      name: 'browser-safe-floors',
      comment: 'Everything below the main jobs runs in the browser: no Node built-ins.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(node|demo|study)/|^src/(node|cli)\\.ts$' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'core-entry-browser-safe',
      comment: 'Nothing the core entry reaches, however indirectly, is Node-only.',
      severity: 'error',
      from: { path: '^src/index\\.ts$' },
      to: { path: '^src/node/|^node:|^(fs|path|os|child_process|worker_threads|crypto|zlib|url)$', reachable: true },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.js'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
