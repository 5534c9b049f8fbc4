// The .deb's metadata as text: DEBIAN/control, the Debian changelog, the machine-readable copyright file
// (DEP-5) with a stanza for the npm packages bundled into the agent.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Who the package names as its maintainer unless DEBFULLNAME / DEBEMAIL say otherwise. */
const MAINTAINER = 'ota-agent maintainers <ota-agent@packages.invalid>';

/** `Name <email>` from DEBFULLNAME and DEBEMAIL (as dch reads them), else MAINTAINER. */
export function maintainer(env) {
  const name = env.DEBFULLNAME;
  const email = env.DEBEMAIL;
  return name && email ? `${name} <${email}>` : MAINTAINER;
}

/**
 * DEBIAN/control. Depends on nodejs alone: the agent reads and writes the U-Boot env with its own codec and
 * spawns no fw_printenv/fw_setenv, so libubootenv-tool is only suggested (to inspect the env by hand). It does
 * run systemctl: the default rebootCommand (`systemctl reboot`) and health checks of kind "systemd"; both can be
 * configured otherwise, so systemd is recommended, not required.
 */
export function control({ version, maintainer: who, installedSizeKiB, description }) {
  return `Package: ota-agent
Version: ${version}
Architecture: all
Maintainer: ${who}
Installed-Size: ${installedSizeKiB}
Depends: nodejs (>= 18)
Recommends: systemd
Suggests: libubootenv-tool
Section: admin
Priority: optional
Description: over-the-air update agent for A/B slots with U-Boot
${description.map((l) => (l === '' ? ' .' : ` ${l}`)).join('\n')}
`;
}

/** The long description's lines. */
export const DESCRIPTION = [
  'ota-agent receives signed update notices over MQTT, downloads binary deltas',
  '(resumable HTTP range requests, each segment verified), writes the inactive',
  'slot of an A/B layout, arms a trial boot in the U-Boot environment, and',
  'commits the new slot only after a health check; otherwise the device',
  'reverts on its own.',
  '',
  'This package holds the agent (one JavaScript file run by Node.js), its two',
  'systemd units, the U-Boot boot script and an example configuration.',
];

/** The Debian changelog of a native package: one entry for `version`, dated `epochS`. */
export function changelog({ version, maintainer: who, epochS }) {
  const date = new Date(epochS * 1000).toUTCString().replace(/^(\w+), (\d+) (\w+) (\d+) (\S+) GMT$/, '$1, $2 $3 $4 $5 +0000');
  return `ota-agent (${version}) unstable; urgency=medium

  * Release ${version}.

 -- ${who}  ${date}
`;
}

/** The first `Copyright ...` line of an npm package's license file, else its author. */
function holder(dir) {
  const file = readdirSync(dir).find((f) => /^(licen[cs]e|copying)/i.test(f));
  const line = file === undefined ? undefined
    : readFileSync(join(dir, file), 'utf8').split('\n').map((l) => l.trim()).find((l) => /^copyright\b/i.test(l) && /\d{4}/.test(l));
  if (line !== undefined) return line.replace(/^copyright\s*(\(c\)|©)?\s*/i, '');
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const author = typeof pkg.author === 'string' ? pkg.author : pkg.author?.name;
  return `${author ?? 'the'} ${pkg.name} authors`;
}

/** The npm packages (name, license, holder) whose modules esbuild put into the bundle (its metafile). */
export function bundledPackages(metafile, nodeModules) {
  const names = new Set();
  for (const input of Object.keys(metafile.inputs)) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (m?.[1] !== undefined) names.add(m[1]);
  }
  return [...names].sort().map((name) => {
    const dir = join(nodeModules, name);
    if (!existsSync(join(dir, 'package.json'))) throw new Error(`build:deb: bundled package ${name} is not in node_modules`);
    const { license } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    if (!(license in LICENSE_TEXTS)) throw new Error(`build:deb: bundled package ${name} has license ${license}: add its text to scripts/deb/texts.mjs`);
    return { name, license, holder: holder(dir) };
  });
}

/** The machine-readable copyright file: the project (Apache-2.0) and the packages bundled into the agent. */
export function copyright(packages) {
  const licenses = [...new Set(packages.map((p) => p.license))].sort();
  const stanzas = [
    `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: ota-agent`,
    `Files: *
Copyright: the ota-agent authors
License: Apache-2.0`,
    `Files: usr/lib/ota-agent/ota-agent.mjs
Copyright: the ota-agent authors
${packages.map((p) => ` ${p.holder} (${p.name})`).join('\n')}
License: Apache-2.0 and ${licenses.join(' and ')}
Comment: one file bundled by esbuild from ota-agent and the npm packages named above:
${packages.map((p) => ` ${p.name}: ${p.license}`).join('\n')}`,
    `License: Apache-2.0
 On Debian systems, the full text of the Apache License, Version 2.0 can be
 found in the file /usr/share/common-licenses/Apache-2.0.`,
    ...licenses.map((l) => `License: ${l}\n${LICENSE_TEXTS[l].trim().split('\n').map((x) => (x === '' ? ' .' : ` ${x}`)).join('\n')}`),
  ];
  return `${stanzas.join('\n\n')}\n`;
}

/** Full texts of the licenses bundled packages use (not in /usr/share/common-licenses). */
const LICENSE_TEXTS = {
  MIT: `Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in
all copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN
THE SOFTWARE.`,
  ISC: `Permission to use, copy, modify, and/or distribute this software for any
purpose with or without fee is hereby granted, provided that the above
copyright notice and this permission notice appear in all copies.

THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.`,
  Unlicense: `This is free and unencumbered software released into the public domain.

Anyone is free to copy, modify, publish, use, compile, sell, or
distribute this software, either in source code form or as a compiled
binary, for any purpose, commercial or non-commercial, and by any
means.

In jurisdictions that recognize copyright laws, the author or authors
of this software dedicate any and all copyright interest in the
software to the public domain. We make this dedication for the benefit
of the public at large and to the detriment of our heirs and
successors. We intend this dedication to be an overt act of
relinquishment in perpetuity of all present and future rights to this
software under copyright law.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND,
EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF
MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT.
IN NO EVENT SHALL THE AUTHORS BE LIABLE FOR ANY CLAIM, DAMAGES OR
OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE,
ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR
OTHER DEALINGS IN THE SOFTWARE.

For more information, please refer to <http://unlicense.org/>`,
};
