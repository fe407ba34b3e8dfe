"""Probes of hostile and careless input: each closed defect stays closed, at a bounded cost."""
