"""Trust: URNs, certificates (GIDs), credentials, speaks-for, authorization.

The RPC layer needs one call: ``Authorizer(trust_roots).authorize(peer_chain,
credentials, target_urn, method, options)``.
"""
from gam.auth.authorize import Authorization, Authorizer, Caller, decode_credentials
from gam.auth.credential import CredentialError, Privilege, SignedCredential, parse_credential
from gam.auth.gid import GID, Authority, load_pem_chain
from gam.auth.trust import ChainError, TrustRoots, VerifiedChain
from gam.auth.urn import URN, URNError
from gam.auth.verify import CredentialVerifier, VerifiedCredential

__all__ = [
    "Authorization", "Authorizer", "Caller", "decode_credentials", "CredentialError",
    "Privilege", "SignedCredential", "parse_credential", "GID", "Authority", "load_pem_chain",
    "ChainError", "TrustRoots", "VerifiedChain", "URN", "URNError", "CredentialVerifier",
    "VerifiedCredential",
]
