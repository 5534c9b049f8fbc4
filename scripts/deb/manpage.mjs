// ota-agent(1): the agent's own --help (so the page cannot drift from the commands), with the package's files.

/** Text escaped for roff: backslashes, and a leading dot or quote that roff would read as a request. */
function roff(text) {
  return text.replaceAll('\\', '\\e').split('\n').map((l) => (/^[.']/.test(l) ? `\\&${l}` : l)).join('\n');
}

/** The manual page (man(7) macros) for `version`, dated `epochS`, around the text of `ota-agent --help`. */
export function manPage({ version, epochS, help }) {
  const date = new Date(epochS * 1000).toISOString().slice(0, 10);
  return `.TH OTA-AGENT 1 "${date}" "ota-agent ${version}" "User Commands"
.SH NAME
ota-agent \\- over-the-air update agent for A/B slots with U-Boot
.SH SYNOPSIS
.B ota-agent
.RI [ options ] " command " [ arguments ]
.SH DESCRIPTION
.B ota-agent
receives signed update notices over MQTT, downloads binary deltas, writes the
inactive slot of an A/B layout, arms a trial boot in the U-Boot environment and
commits the new slot after a health check.
Each command prints its own help with
.BR \\-\\-help .
.SH COMMANDS
.nf
${roff(help.trimEnd())}
.fi
.SH FILES
.TP
.I /etc/ota-agent/agent.json
the agent config (example: /usr/share/doc/ota-agent/examples/agent.json)
.TP
.I /var/lib/ota-agent
the data directory: slot records, journal, trusted root, identity
.TP
.I /usr/share/ota-agent/boot.cmd
the U-Boot boot script (A/B with try counters)
.TP
.I ota-agent.service, ota-agent-health.service
the daemon, and the post-boot step that commits or reverts a trial boot
.SH SEE ALSO
.BR fw_printenv (8),
.BR systemctl (1)
`;
}
