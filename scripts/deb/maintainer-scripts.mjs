// The .deb's maintainer scripts: what debhelper's dh_installsystemd (13.11, Debian 12) generates for two units,
// written out because the package is built without debhelper. deb-systemd-helper (init-system-helpers,
// Essential) records and creates the enable symlinks, also with no systemd running (an image build, a chroot)
// and under DPKG_ROOT (dpkg --root); starting, stopping and daemon-reload only happen on a running systemd.

const UNITS = ["'ota-agent.service'", "'ota-agent-health.service'"].join(' ');
/**
 * Started on install: the daemon. The post-boot unit is enabled only: it is a step of each boot (commit or
 * revert a trial boot), with nothing to do on a system that was not just rebooted into a new slot.
 */
const STARTED = "'ota-agent.service'";
const ON_CONFIGURE = 'if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ] ; then';

const postinst = `#!/bin/sh
set -e
${ON_CONFIGURE}
	# was-enabled defaults to true, so a new installation enables the units; an upgrade keeps what the
	# administrator chose and only updates the recorded symlinks.
	if deb-systemd-helper --quiet was-enabled ${UNITS}; then
		deb-systemd-helper enable ${UNITS} >/dev/null || true
	else
		deb-systemd-helper update-state ${UNITS} >/dev/null || true
	fi
fi
${ON_CONFIGURE}
	if [ -z "\${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
		systemctl --system daemon-reload >/dev/null || true
		if [ -n "$2" ]; then
			_dh_action=restart
		else
			_dh_action=start
		fi
		deb-systemd-invoke $_dh_action ${STARTED} >/dev/null || true
	fi
fi
exit 0
`;

const prerm = `#!/bin/sh
set -e
if [ -z "\${DPKG_ROOT:-}" ] && [ "$1" = remove ] && [ -d /run/systemd/system ] ; then
	deb-systemd-invoke stop ${UNITS} >/dev/null || true
fi
exit 0
`;

const postrm = `#!/bin/sh
set -e
if [ -z "\${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ] ; then
	systemctl --system daemon-reload >/dev/null || true
fi
if [ "$1" = "remove" ]; then
	if [ -x "/usr/bin/deb-systemd-helper" ]; then
		deb-systemd-helper mask ${UNITS} >/dev/null || true
	fi
fi
if [ "$1" = "purge" ]; then
	if [ -x "/usr/bin/deb-systemd-helper" ]; then
		deb-systemd-helper purge ${UNITS} >/dev/null || true
		deb-systemd-helper unmask ${UNITS} >/dev/null || true
	fi
fi
exit 0
`;

/** The maintainer scripts by their name in DEBIAN/. */
export const maintainerScripts = { postinst, prerm, postrm };
