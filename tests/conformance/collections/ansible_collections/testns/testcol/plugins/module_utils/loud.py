# Collection module_utils for testns.testcol.shout: packaged with the module by ansible-core.
def loud(text):
    return text.upper() + '!'
