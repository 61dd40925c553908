"""The router: which model weight should do a task, and why (``route``), from the task's
scope, budget and risk and from prior receipts. May import ``receipts`` and below."""
