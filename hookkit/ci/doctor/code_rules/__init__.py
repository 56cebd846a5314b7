"""``hookkit doctor``'s own rules: the ones that read the hooks' code, not only the template.

They import each hook's checks module (in a child process), so they are not part of the rules
``--append-rules`` gives plain cfn-lint; doctor loads them next to those. Same layout and loading
rules as :mod:`hookkit.ci.doctor.rules`.
"""
