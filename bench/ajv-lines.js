// The ajv library driven over the lines of an NDJSON file, as a user would write it (ajv's
// CLI cannot read NDJSON): JSON.parse each line, validate, count. Draft 7, formats from
// ajv-formats, all errors off (ajv's default: stop at the first).
//
//   node bench/ajv-lines.js SCHEMA FILE   -> "valid N invalid M" on stdout
"use strict";
const fs = require("fs");
const Ajv = require("ajv");
const addFormats = require("ajv-formats");

const [schemaPath, dataPath] = process.argv.slice(2);
const ajv = new Ajv({ strict: false });
addFormats(ajv);
const validate = ajv.compile(JSON.parse(fs.readFileSync(schemaPath, "utf8")));

let valid = 0;
let invalid = 0;
const fd = fs.openSync(dataPath, "r");
const chunk = Buffer.alloc(1 << 24);
let rest = "";
for (;;) {
  const n = fs.readSync(fd, chunk, 0, chunk.length, null);
  if (n === 0) break;
  const lines = (rest + chunk.toString("utf8", 0, n)).split("\n");
  rest = lines.pop();
  for (const line of lines) {
    if (line.length === 0) continue;
    let doc;
    try {
      doc = JSON.parse(line);
    } catch (e) {
      invalid++;
      continue;
    }
    if (validate(doc)) valid++;
    else invalid++;
  }
}
if (rest.length > 0) {
  try {
    if (validate(JSON.parse(rest))) valid++;
    else invalid++;
  } catch (e) {
    invalid++;
  }
}
console.log(`valid ${valid} invalid ${invalid}`);
