#!/usr/bin/python
# A collection's module that imports the collection's own module_utils (python_modules case).
from ansible.module_utils.basic import AnsibleModule
from ansible_collections.testns.testcol.plugins.module_utils.loud import loud


def main():
    module = AnsibleModule(argument_spec=dict(text=dict(type='str', required=True)), supports_check_mode=True)
    module.exit_json(changed=False, shout=loud(module.params['text']))


if __name__ == '__main__':
    main()
