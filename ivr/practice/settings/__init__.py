"""Practice settings (``flows/practice.yaml``): ``model`` (the frozen values) and ``checks`` (reading and
checking the file).
"""
