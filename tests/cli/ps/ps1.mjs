// Reads PowerShell scripts with a real PowerShell grammar (tree-sitter-powershell, run by
// web-tree-sitter), for tests on a machine without PowerShell.
//
// Usage: node ps1.mjs check FILE...   every ERROR and MISSING node, one line each as
//                                     FILE:LINE:COLUMN: what: text; exit 1 when any
//        node ps1.mjs params FILE     the names of the script's parameters (param block)
//        node ps1.mjs env FILE        the environment variables it reads ($env:NAME)
//        node ps1.mjs commands FILE   every command it invokes, one a line:
//                                     WHERE NAME ARG..., WHERE being `finally` inside a
//                                     finally block and `-` elsewhere; a quoted argument
//                                     without its quotes, any other as written
// Exit status: 0 success, 1 syntax errors (check), 2 usage error or unreadable file.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Parser, Language } from 'web-tree-sitter';

function usage(message) {
  console.error(`ps1.mjs: ${message}; usage: node ps1.mjs check|params|env|commands FILE...`);
  process.exit(2);
}

const [mode, ...files] = process.argv.slice(2);
if (!['check', 'params', 'env', 'commands'].includes(mode)) usage(`unknown mode '${mode ?? ''}'`);
if (files.length === 0 || (mode !== 'check' && files.length !== 1)) usage('wrong number of files');

const require = createRequire(import.meta.url);
await Parser.init();
const language = await Language.load(
  require.resolve('tree-sitter-powershell/tree-sitter-powershell.wasm'));
const parser = new Parser();
parser.setLanguage(language);

function parse(file) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    console.error(`ps1.mjs: cannot read '${file}': ${e.message}`);
    process.exit(2);
  }
  return parser.parse(text);
}

// Every node under `node`, depth first, in source order.
function* nodes(node) {
  yield node;
  for (const child of node.children) yield* nodes(child);
}

// Every ERROR or MISSING node under `node` (not the ones inside an ERROR node already given).
function* problems(node) {
  if (node.isError || node.isMissing) {
    yield node;
    return;
  }
  if (!node.hasError) return;
  for (const child of node.children) yield* problems(child);
}

// A command argument: a plain quoted string without its quotes, anything else as written
// (on one line).
function argument(node) {
  // The grammar wraps an argument in expression nodes that each hold just the next one.
  while (node.type !== 'string_literal' && node.namedChildCount === 1 &&
         node.namedChild(0).text === node.text) {
    node = node.namedChild(0);
  }
  const text = node.text.replace(/\s*\n\s*/g, ' ');
  if (node.type === 'string_literal' && node.namedChildCount <= 1) {
    const inner = node.namedChild(0);
    if (inner && inner.type === 'verbatim_string_characters') return text.slice(1, -1);
    if (inner && inner.type === 'expandable_string_literal' && inner.namedChildCount === 0) {
      return text.slice(1, -1);
    }
  }
  return text;
}

function insideFinally(node) {
  for (let p = node.parent; p; p = p.parent) if (p.type === 'finally_clause') return true;
  return false;
}

if (mode === 'check') {
  let failed = false;
  for (const file of files) {
    const tree = parse(file);
    let count = 0;
    for (const n of problems(tree.rootNode)) {
      const { row, column } = n.startPosition;
      const what = n.isMissing ? `missing ${n.type}` : 'syntax error';
      const snippet = n.text.split('\n')[0].slice(0, 60);
      console.log(`${file}:${row + 1}:${column + 1}: ${what}${snippet ? `: ${snippet}` : ''}`);
      count++;
    }
    if (count === 0 && tree.rootNode.hasError) {
      console.log(`${file}: syntax error at an unknown position`);
      count++;
    }
    if (count > 0) failed = true;
    tree.delete();
  }
  process.exit(failed ? 1 : 0);
}

const tree = parse(files[0]);
if (tree.rootNode.hasError) {
  console.error(`ps1.mjs: '${files[0]}' has syntax errors; run 'node ps1.mjs check ${files[0]}'`);
  process.exit(1);
}
const root = tree.rootNode;
const lines = [];
if (mode === 'params') {
  const block = root.namedChildren.find((n) => n.type === 'param_block');
  for (const n of block ? nodes(block) : []) {
    if (n.type === 'script_parameter') {
      const v = n.namedChildren.find((c) => c.type === 'variable');
      if (v) lines.push(v.text.replace(/^\$/, ''));
    }
  }
} else if (mode === 'env') {
  const seen = new Set();
  for (const n of nodes(root)) {
    const m = n.type === 'variable' && /^\$\{?env:([A-Za-z_][A-Za-z0-9_]*)\}?$/i.exec(n.text);
    if (m && !seen.has(m[1])) {
      seen.add(m[1]);
      lines.push(m[1]);
    }
  }
} else {
  for (const n of nodes(root)) {
    if (n.type !== 'command') continue;
    const name = n.childForFieldName('command_name');
    const elements = n.childForFieldName('command_elements');
    const args = elements
      ? elements.namedChildren.filter((c) => c.type !== 'command_argument_sep').map(argument)
      : [];
    const where = insideFinally(n) ? 'finally' : '-';
    lines.push([where, name ? name.text : '?', ...args].join(' ').replace(/\s*\n\s*/g, ' '));
  }
}
for (const line of lines) console.log(line);
