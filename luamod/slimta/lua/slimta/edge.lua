-- Namespace table for the edge modules (slimta.edge.smtp, slimta.edge.http).
slimta = slimta or require "slimta"
slimta.edge = slimta.edge or {}
return slimta.edge
