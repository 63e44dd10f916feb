# In a second terminal, while `npm start` runs. First an administrator (the first account);
# without --password-stdin it asks for the password on the terminal:
echo 'a long secret' | npm run user:create -- --email admin@example.com --name Admin --password-stdin --role admin

# Sign in over REST and keep the session token:
TOKEN=$(curl -s localhost:3000/api/v1/auth/sign-in -H 'content-type: application/json' \
  -d '{"email":"admin@example.com","password":"a long secret"}' | node -pe 'JSON.parse(require("fs").readFileSync(0)).token')

# Create a product (needs the products:create permission, which admin holds) ...
curl -s -X POST localhost:3000/api/v1/products -H "authorization: Bearer $TOKEN" \
  -H 'content-type: application/json' -d '{"name":"Espresso cup","price":"7.50"}'

# ... and find it again; the list is public:
curl -s 'localhost:3000/api/v1/products?search=cup&size=10'

# The same through the typed tRPC client: client/example.ts signs in, creates, lists, signs out.
API_EMAIL=admin@example.com API_PASSWORD='a long secret' npx tsx client/example.ts
