// tslab runs notebook cells as CommonJS inside `vm`, where `import()` is unavailable and
// `require()` cannot load ES modules with top-level await (vega). A real CommonJS file can:
// `const { importEsm } = require('./esm.cjs'); const vega = await importEsm('vega');`
module.exports.importEsm = (specifier) => import(specifier);
