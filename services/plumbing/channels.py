"""Client channels to other services, carrying a signed caller identity and the request id on every call."""

import collections

import grpc

from services.plumbing import config, identity, request_ids


class _CallDetails(collections.namedtuple(
        "_CallDetails", ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression")),
        grpc.ClientCallDetails):
    pass


class _CallerInterceptor(grpc.UnaryUnaryClientInterceptor):
    """Adds this service's identity unless the call already names a caller (the portal acting
    for a person passes that person's identity itself), and the request id bound to the calling thread."""

    def __init__(self, signer: identity.ServiceSigner):
        self.signer = signer

    def intercept_unary_unary(self, continuation, details, request):
        metadata = list(details.metadata or ())
        if not any(key == identity.METADATA_KEY for key, _ in metadata):
            metadata.append((identity.METADATA_KEY, self.signer.token()))
        request_id = request_ids.current()
        if request_id and not any(key == request_ids.METADATA_KEY for key, _ in metadata):
            metadata.append((request_ids.METADATA_KEY, request_id))
        # A service that restarts is back within seconds: wait for it (up to the call's deadline)
        # rather than fail at once while the channel reconnects.
        wait_for_ready = True if details.wait_for_ready is None else details.wait_for_ready
        return continuation(_CallDetails(details.method, details.timeout, metadata, details.credentials,
                                         wait_for_ready, details.compression), request)


def signed(channel: grpc.Channel, signer: identity.ServiceSigner) -> grpc.Channel:
    """`channel` with the signer's identity on every call that names no caller itself."""
    return grpc.intercept_channel(channel, _CallerInterceptor(signer))


def connect(address: str, signer: identity.ServiceSigner) -> grpc.Channel:
    """A channel to `address` whose calls carry the signer's identity."""
    limit = config.get_int("SP4N_GRPC_MAX_MESSAGE_BYTES")
    channel = grpc.insecure_channel(address, options=[
        ("grpc.max_receive_message_length", limit),
        ("grpc.max_send_message_length", limit),
        ("grpc.keepalive_time_ms", 30_000),
        ("grpc.initial_reconnect_backoff_ms", 200),
        ("grpc.max_reconnect_backoff_ms", 2_000),
    ])
    return signed(channel, signer)


def as_caller(caller: identity.Caller, key: str) -> list[tuple[str, str]]:
    """Call metadata naming `caller` (for the portal, acting for a signed-in person)."""
    return [(identity.METADATA_KEY, identity.sign(caller, key))]
