"""Shared helpers for the rspec tests: the bundled example documents."""
import os

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "data", "rspec")

GAM_CM = "urn:publicid:IDN+gam.localhost+authority+cm"


def path(kind, name):
    return os.path.join(DATA, kind, name)


def read(kind, name):
    with open(path(kind, name), "rb") as f:
        return f.read()


def names(kind):
    return sorted(n for n in os.listdir(os.path.join(DATA, kind)) if n.endswith(".xml"))


def request_doc(body, *, root_attrs="", namespaces=""):
    """A request RSpec around ``body`` (text)."""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<rspec xmlns="http://www.geni.net/resources/rspec/3" type="request"%s%s>\n'
            '%s\n</rspec>\n' % (namespaces, root_attrs, body))
