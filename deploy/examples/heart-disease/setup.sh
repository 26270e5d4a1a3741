#!/usr/bin/env bash
# A real study on one machine, from the UCI Heart Disease files of four hospitals:
# keys, hub.json and one site.json per hospital, written into OUT (loopback, no TLS:
# see the README's "Running a study across machines" for certificates).
#
#   deploy/examples/heart-disease/setup.sh [DATA_DIR] [OUT]
#
# DATA_DIR holds processed.{cleveland,hungarian,switzerland,va}.data (default
# ../shared/data/heart-disease); OUT defaults to ./uci-heart-study. Nothing is
# copied: the site configs name the files where they are.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
data="$(cd "${1:-$repo/../shared/data/heart-disease}" && pwd)"
out="${2:-uci-heart-study}"
fedlineage=(node "$repo/bin/fedlineage.mjs")
sites=(cleveland hungarian switzerland va)

for s in "${sites[@]}"; do
  [[ -f "$data/processed.$s.data" ]] || { echo "no $data/processed.$s.data: pass the folder holding the four UCI files" >&2; exit 2; }
done
if [[ -e "$out" ]]; then echo "$out exists: pass a new folder" >&2; exit 2; fi
mkdir -p "$out/keys"
out="$(cd "$out" && pwd)"

"${fedlineage[@]}" keygen --out "$out/keys" --name hub >/dev/null
for s in "${sites[@]}"; do "${fedlineage[@]}" keygen --out "$out/keys" --name "$s" >/dev/null; done

# The configs, with the public keys the hub enrols (each site would send its .pub).
node - "$here/study.json" "$out" "$data" "${sites[@]}" <<'JS'
const fs = require('node:fs')
const [study, out, data, ...sites] = process.argv.slice(2)
const pub = (name) => fs.readFileSync(`${out}/keys/${name}.pub`, 'utf8').trim()
const hub = {
  study: JSON.parse(fs.readFileSync(study, 'utf8')),
  listen: '127.0.0.1:50051',
  dataDir: 'hub-ledger',
  keyFile: 'keys/hub.key',
  autoAdvance: true,
  sites: sites.map((id) => ({ id, publicKey: pub(id) })),
}
fs.writeFileSync(`${out}/hub.json`, JSON.stringify(hub, null, 2) + '\n')
for (const id of sites) {
  const site = { siteId: id, study: hub.study.id, coordinator: '127.0.0.1:50051', keyFile: `keys/${id}.key`, stateDir: `state-${id}`, data: { file: `${data}/processed.${id}.data`, validationFraction: 0.3, splitSeed: 1 } }
  fs.writeFileSync(`${out}/site-${id}.json`, JSON.stringify(site, null, 2) + '\n')
}
JS
echo "study written to $out: hub.json, site-<hospital>.json for ${sites[*]}, keys/"
