"""Packaging for gam, a GENI Aggregate Manager with an SFA-style registry."""
from setuptools import find_packages, setup

setup(
    name="gam",
    version="0.1.0",
    description="GENI Aggregate Manager (AM API v3) with an SFA-style registry, on Twisted",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.11",
    packages=find_packages(include=["gam", "gam.*"]),
    include_package_data=True,
    package_data={
        "gam.rspec": ["schemas/*.xsd", "schemas/*/*.xsd", "schemas/*/*/*.xsd",
                      "schemas/*/*/*/*.xsd"],
        "gam.auth": ["schemas/*.xsd"],
        "gam.db": ["migrations/*.py", "migrations/script.py.mako", "migrations/versions/*.py",
                   "alembic.ini"],
    },
    install_requires=[
        "twisted[tls]>=24.7,<27",
        "pyopenssl>=24.2,<27",
        "cryptography>=43,<51",
        # xmlsec and lxml must share one libxml2: the 1.3.17 wheels of xmlsec
        # are built against the libxml2 that lxml 6.1 bundles.
        "lxml>=6.1,<6.2",
        "xmlsec>=1.3.17,<1.4",
        "sqlalchemy>=2.0,<2.2",
        "alembic>=1.13,<2",
        "pyyaml>=6,<7",
        "paramiko>=3.4,<6",
        # The Ansible driver path (ansible-core 2.19 needs Python 3.11).
        "ansible-core>=2.19,<2.20",
        "ansible-runner>=2.4,<2.5",
    ],
    extras_require={
        # PostgreSQL instead of the default SQLite file
        "postgresql": ["psycopg[binary]>=3.1,<4"],
        # what the client tests drive gam with: geni-lib imports six without
        # declaring it and needs setuptools' pkg_resources (gone in 82)
        "test": ["geni-lib>=0.9.9.4,<0.10", "six>=1.16", "setuptools<82"],
    },
    entry_points={"console_scripts": ["gam = gam.cli:main"]},
    classifiers=[
        "Framework :: Twisted",
        "Programming Language :: Python :: 3",
        "Topic :: System :: Distributed Computing",
    ],
)
