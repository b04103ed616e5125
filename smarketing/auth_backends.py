"""How a signed-in person is loaded on each request."""

from django.contrib.auth.backends import ModelBackend

from smarketing.models import User


class UserWithTeamBackend(ModelBackend):
    """Django's ModelBackend, loading the person with their team: every page's header names it, and one
    query is cheaper than two on every request."""

    def get_user(self, user_id):
        try:
            user = User._default_manager.select_related("team").get(pk=user_id)
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
