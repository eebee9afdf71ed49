"""Template context of the console shell."""
from ram.policy import account_arn, is_allowed


def shell(request):
    principal = getattr(request, "principal", None)
    if not principal:
        return {"principal": None}
    can_manage_users = is_allowed(principal, "ram:ListUsers", account_arn(principal.account))
    return {
        "principal": principal,
        "console_account": principal.account,
        "nav_can_list_users": can_manage_users,
        "nav_can_security_settings": is_allowed(principal, "ram:GetSecurityPreference", account_arn(principal.account)),
    }
