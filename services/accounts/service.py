"""The accounts service: nameko entrypoints only; the work is in accounts, sign_in,
sessions, lockout and audit_log."""
from services.accounts import accounts, audit_log, lockout, schemas, sessions, sign_in
from services.common import access
from services.common.errors import Forbidden
from services.common.service import WusheService, rpc


class AccountsService(WusheService):
    name = "accounts"

    @staticmethod
    def prepare_database(db):
        accounts.ensure_indexes(db)
        sessions.ensure_indexes(db)
        lockout.ensure_indexes(db)

    def _managing(self, action, caller, account_id, region, fn):
        """Run a management command; a refusal for want of rights is audited too."""
        try:
            return self.command(fn)
        except Forbidden as refusal:
            if region is None and account_id:
                region = (self.db.accounts.find_one({"_id": account_id}, {"region": 1}) or
                          {}).get("region")
            audit_log.refused(self.db, action, caller, account_id, region, refusal.message)
            raise

    # -- signing in (no caller: these make one) -----------------------------

    @rpc
    def sign_in(self, credentials):
        data = access.load(schemas.SignInSchema, credentials)
        return sign_in.sign_in(self.db, self.command, data)

    @rpc
    def refresh(self, data):
        data = access.load(schemas.RefreshSchema, data)
        return sign_in.refresh(self.command, data)

    @rpc
    def sign_out(self, caller):
        access.caller_region(caller)
        sign_in.sign_out(self.command, caller)

    @rpc
    def change_password(self, data, caller):
        access.caller_region(caller)
        data = access.load(schemas.PasswordChangeSchema, data)
        return sign_in.change_password(self.db, self.command, data, caller)

    @rpc
    def revoked_sessions(self):
        """Ended sessions whose tokens may still be shown: the gateways' periodic sync."""
        return {"sessions": sessions.revoked(self.db)}

    # -- managing accounts ---------------------------------------------------

    @rpc
    def create_account(self, data, caller):
        access.caller_region(caller)
        data = access.load(schemas.AccountCreateSchema, data)
        password, hashed, seconds = sign_in.temporary(data["login"])
        account = self._managing("create_account", caller, None, data["region"], lambda tx: (
            accounts.create(tx, data, caller, hashed, seconds)))
        return {**accounts.view(account, caller), "temporary_password": password,
                "temporary_password_expires_at": sign_in.expires(seconds)}

    @rpc
    def get_account(self, account_id, caller):
        access.caller_region(caller)
        return accounts.get(self.db, account_id, caller)

    @rpc
    def list_accounts(self, query, caller):
        query = access.load(schemas.AccountQuerySchema, query)
        return accounts.list_page(self.db, query, caller)

    @rpc
    def update_account(self, account_id, data, caller):
        access.caller_region(caller)
        data = access.load(schemas.AccountUpdateSchema, data)
        account = self._managing("update_account", caller, account_id, data.get("region"),
                                 lambda tx: accounts.update(tx, account_id, data, caller))
        return accounts.view(account, caller)

    @rpc
    def reset_password(self, account_id, caller):
        access.caller_region(caller)
        password, hashed, seconds = sign_in.temporary(accounts.load(self.db, account_id)["login"])
        self._managing("reset_password", caller, account_id, None, lambda tx: (
            accounts.reset_password(tx, account_id, caller, hashed, seconds)))
        return {"account_id": account_id, "temporary_password": password,
                "expires_at": sign_in.expires(seconds)}

    # -- the audit of sign-ins and account changes --------------------------

    @rpc
    def account_audit(self, query, caller):
        query = access.load(schemas.AccountAuditQuerySchema, query)
        return audit_log.query(self.db, query, caller)

    @rpc
    def export_account_audit(self, query, caller):
        query = access.load(schemas.AccountAuditQuerySchema, query)
        return audit_log.export(self.db, query, caller)
