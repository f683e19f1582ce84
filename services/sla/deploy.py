"""Validate and deploy a process model: `make deploy-process FILE=bpmn/report_lifecycle.bpmn`.

    python -m services.sla.deploy FILE            deploy to the sla at SLA_SERVICE_ADDR, as a process
                                                  analyst signed with SP4N_IDENTITY_KEY
    python -m services.sla.deploy --check FILE    only validate, here, without a server

A bad model is refused with a message that names the element at fault; nothing is deployed.
"""

import argparse
import getpass
import secrets
import sys
from pathlib import Path

import grpc

from services.plumbing import config, identity
from services.plumbing.channels import as_caller
from services.sla.domain import ModelError
from services.sla.engine import parse_model
from sp4n.sla.v1 import sla_pb2, sla_pb2_grpc


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.sla.deploy", description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--check", action="store_true", help="only validate the model, here")
    args = parser.parse_args(argv)
    try:
        bpmn = args.file.read_text()
    except (OSError, UnicodeDecodeError) as e:
        print(f"cannot read {args.file}: {e}", file=sys.stderr)
        return 2
    if args.check:
        try:
            model = parse_model(bpmn, config.get("SLA_PROCESS_ID"), args.file.name)
        except ModelError as e:
            print(f"refused: {e}", file=sys.stderr)
            return 1
        print(f"{args.file}: valid, process {model.process_id}, content hash {model.content_hash}")
        return 0
    analyst = identity.Caller(f"cli:{getpass.getuser()}", identity.PROCESS_ANALYST)
    with grpc.insecure_channel(config.get("SLA_SERVICE_ADDR")) as channel:
        try:
            version = sla_pb2_grpc.SlaServiceStub(channel).DeployProcess(
                sla_pb2.DeployProcessRequest(idempotency_key=secrets.token_hex(16), filename=args.file.name,
                                             bpmn=bpmn),
                metadata=as_caller(analyst, config.get("SP4N_IDENTITY_KEY")), timeout=60)
        except grpc.RpcError as e:
            print(f"refused ({e.code().name}): {e.details()}", file=sys.stderr)
            return 1
    print(f"deployed {version.process_id} version {version.version} ({version.content_hash[:12]}); "
          f"new reports use it, running instances keep theirs")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
