package ratchet

import "github.com/slimta-lua/slimta-lua/luamod/ratchet/dns"

func init() {
	RegisterSubmodule("dns", dns.Open)
	RegisterSubmodule("dns.hosts", dns.OpenHosts)
	RegisterSubmodule("dns.resolv_conf", dns.OpenResolvConf)
}
