from django.db import connection
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.serializers import HealthSerializer

API_VERSION = "1.0.0"


class HealthView(APIView):
    """No key needed: for load balancers and uptime checks. Says nothing about any tenant."""

    authentication_classes = ()
    permission_classes = (AllowAny,)

    @extend_schema(tags=["health"], auth=[], summary="Is the API up?",
                   responses={200: HealthSerializer, 503: HealthSerializer})
    def get(self, request):
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            database = "ok"
        except Exception:
            database = "unavailable"
        status = "ok" if database == "ok" else "unavailable"
        return Response({"status": status, "database": database, "version": API_VERSION},
                        status=200 if status == "ok" else 503)
