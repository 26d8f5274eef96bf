// placeholder: filled in by the command that owns this unit
