#!/usr/bin/python
# A module of the playbook's own (library/ next to it), for the python_modules case: it echoes
# a word, sets a fact, honours check mode and fails when asked to.
from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(
        argument_spec=dict(
            word=dict(type='str', required=True),
            fail=dict(type='bool', default=False),
            secret=dict(type='str', no_log=True),
        ),
        supports_check_mode=True,
    )
    word = module.params['word']
    if module.params['fail']:
        module.fail_json(msg='asked to fail: %s' % word)
    module.exit_json(
        changed=not module.check_mode,
        echo=word,
        check=module.check_mode,
        ansible_facts=dict(echo_fact=word.upper()),
    )


if __name__ == '__main__':
    main()
