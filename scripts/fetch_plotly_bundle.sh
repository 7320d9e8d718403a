#!/usr/bin/env bash
# Re-fetch the report's charting library: plotly.js's official "basic" partial bundle (trace types
# scatter, bar, pie; the report draws only scatter traces), minified, from the npm registry.
# `npm pack` checks the tarball against the registry's sha512 integrity; this script then copies
# the bundle and its MIT license next to the report's other static files and records the version,
# the tarball's integrity and the bundle's sha256 in plotly-basic.json, which evalkit checks when
# it inlines the bundle. Usage: scripts/fetch_plotly_bundle.sh [VERSION] (default: the recorded one).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
dest="$here/evalkit/report/static/vendor"
record="$dest/plotly-basic.json"
version="${1:-$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['version'])" "$record")}"
package="plotly.js-basic-dist-min"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$package@$version" >/dev/null)
tar -xzf "$work/$package-$version.tgz" -C "$work"
integrity="$(npm view "$package@$version" dist.integrity)"
cp "$work/package/plotly-basic.min.js" "$dest/plotly-basic.min.js"
cp "$work/package/LICENSE" "$dest/plotly-LICENSE.txt"
sha="$(sha256sum "$dest/plotly-basic.min.js" | cut -d' ' -f1)"
cat >"$record" <<JSON
{
  "package": "$package",
  "version": "$version",
  "tarball_integrity": "$integrity",
  "file": "plotly-basic.min.js",
  "sha256": "$sha",
  "license": "MIT (plotly-LICENSE.txt)",
  "traces": ["scatter", "bar", "pie"]
}
JSON
echo "plotly.js basic $version: $(wc -c <"$dest/plotly-basic.min.js") bytes, sha256 $sha"
