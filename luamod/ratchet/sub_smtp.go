package ratchet

import "github.com/slimta-lua/slimta-lua/luamod/ratchet/smtp"

func init() {
	RegisterSubmodule("smtp.smtp_io", smtp.OpenIO)
	RegisterSubmodule("smtp.data_reader", smtp.OpenDataReader)
	RegisterSubmodule("smtp.data_sender", smtp.OpenDataSender)
}
