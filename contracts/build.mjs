#!/usr/bin/env node
// Offline, reproducible build of the Solidity sources in src/ with the pinned npm `solc` (solcjs, WebAssembly).
//
//   npm ci && node build.mjs           compile and (re)write artifacts/<ContractName>.json
//   node build.mjs --check             compile in memory; exit 1 if artifacts/ differs from a fresh compile
//   --verbose                          also print the dependencies' compiler warnings (only counted otherwise)
//
// Inputs: src/**/*.sol, imports from node_modules/ (pinned in package.json, locked in package-lock.json), and
// build.config.json ({"solc": <version>, "settings": <solc standard-JSON settings>}). No network access.
//
// Artifacts: one per concrete (non-abstract) `contract` defined under src/ (no interfaces, no libraries):
//   {abi, bytecode, compiler, contractName, deployedBytecode, sourceHash, sourceName}
// written with every object's keys sorted recursively, 2-space indent and a trailing newline, so a rebuild of the
// same inputs is byte-identical.
//
// sourceHash recipe (tests/solidity/test_artifacts.py recomputes it in Python, without node; keep both in sync):
//   manifest = {
//     "compiler":     build.config.json "solc"           (e.g. "0.8.37"),
//     "dependencies": package.json "dependencies"         (exact pins, e.g. {"solc": "0.8.37", ...}),
//     "settings":     build.config.json "settings",
//     "sources":      {"src/<path>.sol": sha256 hex of the file's bytes, for every .sol file under src/}
//                     (paths relative to contracts/, "/" separators)
//   }
//   sourceHash = sha256 hex of canonical JSON of manifest: object keys sorted recursively, no whitespace
//                (separators "," and ":"), UTF-8, non-ASCII not escaped
//                == Python: json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.dirname(fileURLToPath(import.meta.url));
const SRC_DIR = path.join(ROOT, 'src');
const ARTIFACTS_DIR = path.join(ROOT, 'artifacts');
const NODE_MODULES = path.join(ROOT, 'node_modules');
const require = createRequire(import.meta.url);

function fail(message) {
  console.error(`build.mjs: ${message}`);
  process.exit(1);
}

/** Keys sorted recursively; arrays keep their order. */
function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sortKeys(value[key])]),
    );
  }
  return value;
}

const canonicalJson = (value) => JSON.stringify(sortKeys(value));
const prettyJson = (value) => `${JSON.stringify(sortKeys(value), null, 2)}\n`;
const sha256 = (data) => createHash('sha256').update(data).digest('hex');

/** Source unit names ("src/a/B.sol") of every .sol file under src/, sorted. */
function listSources(dir = SRC_DIR) {
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...listSources(full));
    else if (entry.isFile() && entry.name.endsWith('.sol')) found.push(path.relative(ROOT, full).split(path.sep).join('/'));
  }
  return found.sort();
}

function readJson(file) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** Every dependency installed at exactly the version package.json pins (npm ci guarantees it; a stale tree does not). */
function checkInstalled(dependencies) {
  for (const [name, version] of Object.entries(dependencies)) {
    const manifest = path.join(NODE_MODULES, name, 'package.json');
    if (!existsSync(manifest)) fail(`${name} is not installed: run \`npm ci\` in contracts/`);
    const installed = readJson(manifest).version;
    if (installed !== version) fail(`${name} ${installed} is installed but package.json pins ${version}: run \`npm ci\``);
  }
}

/** Import callback: only files inside node_modules/ (package imports such as "@openzeppelin/contracts/..."). */
function findImports(importPath) {
  const resolved = path.resolve(NODE_MODULES, importPath);
  if (!resolved.startsWith(NODE_MODULES + path.sep)) return { error: `import outside node_modules: ${importPath}` };
  if (!existsSync(resolved)) return { error: `not found: ${importPath} (run \`npm ci\` in contracts/)` };
  return { contents: readFileSync(resolved, 'utf8') };
}

function compile({ verbose }) {
  const config = readJson(path.join(ROOT, 'build.config.json'));
  const { dependencies } = readJson(path.join(ROOT, 'package.json'));
  checkInstalled(dependencies);
  const solc = require('solc');
  const compilerVersion = solc.version(); // e.g. "0.8.37+commit.xxxxxxxx.Emscripten.clang"
  if (!compilerVersion.startsWith(`${config.solc}+`)) fail(`solc ${compilerVersion} does not match build.config.json ${config.solc}`);

  const sourceNames = listSources();
  if (sourceNames.length === 0) fail('no .sol files under src/');
  const sources = {};
  const sourceHashes = {};
  for (const name of sourceNames) {
    const bytes = readFileSync(path.join(ROOT, name));
    sources[name] = { content: bytes.toString('utf8') };
    sourceHashes[name] = sha256(bytes);
  }
  const sourceHash = sha256(
    canonicalJson({ compiler: config.solc, dependencies, settings: config.settings, sources: sourceHashes }),
  );

  const input = { language: 'Solidity', sources, settings: config.settings };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));

  const diagnostics = output.errors ?? [];
  const errors = diagnostics.filter((d) => d.severity === 'error');
  // Warnings in our own sources fail the build; dependencies' warnings are only shown.
  const ownWarnings = diagnostics.filter((d) => d.severity !== 'error' && d.sourceLocation?.file?.startsWith('src/'));
  const fromDependencies = diagnostics.filter((d) => d.severity !== 'error' && !d.sourceLocation?.file?.startsWith('src/'));
  for (const d of diagnostics) {
    if (verbose || !fromDependencies.includes(d)) console.error(d.formattedMessage ?? d.message);
  }
  if (fromDependencies.length > 0 && !verbose) {
    console.error(`${fromDependencies.length} warning(s) in node_modules dependencies (shown with --verbose)`);
  }
  if (errors.length > 0) fail(`${errors.length} compiler error(s)`);
  if (ownWarnings.length > 0) fail(`${ownWarnings.length} warning(s) in src/: fix them`);

  const artifacts = new Map();
  for (const sourceName of sourceNames) {
    const ast = output.sources[sourceName]?.ast;
    if (!ast) fail(`no AST for ${sourceName}`);
    for (const node of ast.nodes) {
      if (node.nodeType !== 'ContractDefinition' || node.contractKind !== 'contract' || node.abstract) continue;
      const contract = output.contracts[sourceName][node.name];
      if (artifacts.has(node.name)) fail(`two contracts named ${node.name}: artifact names must be unique`);
      artifacts.set(
        node.name,
        prettyJson({
          abi: contract.abi,
          bytecode: `0x${contract.evm.bytecode.object}`,
          compiler: {
            evmVersion: config.settings.evmVersion,
            optimizer: config.settings.optimizer,
            version: compilerVersion,
          },
          contractName: node.name,
          deployedBytecode: `0x${contract.evm.deployedBytecode.object}`,
          sourceHash,
          sourceName,
        }),
      );
    }
  }
  return artifacts;
}

function existingArtifacts() {
  if (!existsSync(ARTIFACTS_DIR)) return new Map();
  return new Map(
    readdirSync(ARTIFACTS_DIR)
      .filter((f) => f.endsWith('.json'))
      .map((f) => [f.slice(0, -'.json'.length), readFileSync(path.join(ARTIFACTS_DIR, f), 'utf8')]),
  );
}

function main() {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => a !== '--check' && a !== '--verbose');
  if (unknown.length > 0) fail(`unknown argument(s): ${unknown.join(' ')} (usage: node build.mjs [--check] [--verbose])`);
  const check = args.includes('--check');
  const verbose = args.includes('--verbose');

  const started = Date.now();
  const fresh = compile({ verbose });
  const current = existingArtifacts();
  const stale = [...fresh.keys()].filter((name) => current.get(name) !== fresh.get(name));
  const extra = [...current.keys()].filter((name) => !fresh.has(name));

  if (check) {
    for (const name of stale) console.error(`stale or missing: artifacts/${name}.json`);
    for (const name of extra) console.error(`not produced by the sources: artifacts/${name}.json`);
    if (stale.length + extra.length > 0) fail('artifacts differ from a fresh compile: run `node build.mjs` and commit artifacts/');
    console.log(`artifacts up to date (${fresh.size} contracts, ${Date.now() - started} ms)`);
    return;
  }

  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  for (const name of extra) rmSync(path.join(ARTIFACTS_DIR, `${name}.json`));
  for (const name of stale) writeFileSync(path.join(ARTIFACTS_DIR, `${name}.json`), fresh.get(name));
  console.log(
    `compiled ${fresh.size} contracts in ${Date.now() - started} ms: ${stale.length} written, ${extra.length} removed, ` +
      `${fresh.size - stale.length} unchanged`,
  );
}

main();
