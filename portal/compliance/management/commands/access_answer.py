"""`access_answer`: the operator produces the answer to a verified person's access request
(GDPR Art. 15) from a picture of them, for support and tests; audited ("access.answer")."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from portal.audit.services import Actor, audit_record
from portal.compliance.access_answers import AccessAnswerInvalid, access_answer_build
from portal.faces.engine import face_engine
from portal.faces.errors import FaceEngineError
from tenants.context import dangerously_unscoped, scope_atomic
from tenants.models import Tenant

ACTOR = Actor.system("command: access_answer")


class Command(BaseCommand):
    help = ("Builds the answer to a verified person's access request (GDPR Art. 15): every picture of the person "
            "in the platform index, and in the galleries of the tenants named with --release-tenant, with other "
            "faces blurred; writes access-answer.pdf and access-answer.zip into --out. Audited.")

    def add_arguments(self, parser):
        parser.add_argument("--picture", required=True, metavar="FILE",
                            help="A picture of the person, already verified, showing exactly one face.")
        parser.add_argument("--release-tenant", action="append", default=[], metavar="SLUG",
                            help="A tenant that released its part of the answer (repeat for several).")
        parser.add_argument("--refuse-tenant", action="append", default=[], metavar="SLUG=GROUND",
                            help="A tenant that refused its part, with the legal ground it gave.")
        parser.add_argument("--out", required=True, metavar="DIR")
        parser.add_argument("--reference", default="", help="The request's reference (default: one from the time).")
        parser.add_argument("--language", default="en", choices=[code for code, _name in settings.LANGUAGES])
        parser.add_argument("--threshold", type=float, default=None,
                            help="Similarity from which a face is the person's (default and floor: the strong band's).")

    def handle(self, *args, picture, release_tenant, refuse_tenant, out, reference, language, threshold, **options):
        try:
            data = Path(picture).read_bytes()
        except OSError as error:
            raise CommandError(f"The picture cannot be read: {error.strerror or error}.") from None
        try:
            faces = face_engine().faces_detect(data=data).faces
        except FaceEngineError as error:
            raise CommandError(error.message) from None
        if len(faces) != 1:
            raise CommandError(f"The picture must show exactly one face; the engine found {len(faces)}.")
        released = {self._tenant(slug).pk: slug for slug in release_tenant}
        refused = {}
        for item in refuse_tenant:
            slug, _sep, ground = item.partition("=")
            if not ground.strip():
                raise CommandError(f"--refuse-tenant {item!r}: give the legal ground as SLUG=GROUND.")
            refused[self._tenant(slug).pk] = ground.strip()
        now = timezone.now()
        reference = reference.strip() or f"ACCESS-{now:%Y%m%d-%H%M%S}"
        try:
            answer = access_answer_build(
                embeddings=[faces[0].embedding], released_tenant_ids=set(released), refused_tenant_grounds=refused,
                threshold=settings.SEARCH_STRONG_THRESHOLD if threshold is None else threshold,
                reference=reference, received_at=now, language=language)
        except AccessAnswerInvalid as error:
            raise CommandError(error.message) from None
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "access-answer.pdf").write_bytes(answer.pdf)
        (folder / "access-answer.zip").write_bytes(answer.zip)
        with dangerously_unscoped(reason="auditing an access answer"), scope_atomic():
            audit_record(action="access.answer", actor=ACTOR, target_type="access_request", target_id=reference,
                         details={"picture_sha256": hashlib.sha256(data).hexdigest(), "language": language,
                                  "released": sorted(released.values()), "refused": len(refused),
                                  "threshold": answer.data["threshold"], **answer.summary})
        self.stdout.write(json.dumps({"reference": reference, "out": str(folder), **answer.summary}, sort_keys=True))

    def _tenant(self, slug: str) -> Tenant:
        try:
            return Tenant.objects.get(slug=slug)
        except Tenant.DoesNotExist:
            raise CommandError(f"There is no tenant {slug!r}.") from None
