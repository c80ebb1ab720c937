#!/usr/bin/env bash
# Installs the real peers the tests talk to (Debian packages): redis-server,
# swaks, postfix's smtp-sink/smtp-source (the postfix daemon is never
# started), curl, spamassassin's spamd, openssl. Idempotent; needs root.
set -euo pipefail
need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v swaks >/dev/null || need+=(swaks)
# swaks needs these Perl modules for STARTTLS and CRAM-MD5.
perl -MIO::Socket::SSL -e1 2>/dev/null || need+=(libio-socket-ssl-perl libnet-ssleay-perl)
perl -MDigest::HMAC_MD5 -e1 2>/dev/null || need+=(libdigest-hmac-perl)
perl -MAuthen::SASL -e1 2>/dev/null || need+=(libauthen-sasl-perl)
[ -x /usr/sbin/smtp-sink ] || need+=(postfix)
command -v curl >/dev/null || need+=(curl)
command -v spamd >/dev/null || [ -x /usr/sbin/spamd ] || need+=(spamassassin spamc spamd)
command -v openssl >/dev/null || need+=(openssl)
if [ ${#need[@]} -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing ${need[*]}; run as root to install them" >&2
	exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# postfix asks questions and would start a daemon: preseed "No configuration"
# and forbid service starts during the install.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod +x /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
