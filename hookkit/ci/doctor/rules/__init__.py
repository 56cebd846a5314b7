"""hookkit's cfn-lint rules: ``cfn-lint template.yaml --append-rules $(hookkit doctor --rules-path)``.

Pure template checks, one rule per module. cfn-lint loads every ``*.py`` of this folder whose
name does not start with ``_`` as a standalone module (not as part of this package), so the
modules import what they share by absolute name, and import modules rather than rule classes
(cfn-lint would register an imported rule class a second time).
"""
